"""A fast password hasher for the test process.

Django's PBKDF2 default costs about a third of a second per password, and each test makes several
teachers. This subclass keeps the algorithm name and the hash format and only lowers the iteration
count, which the encoded hash records: the real server processes the browser tests start (with
Django's default hashers) still verify these passwords.
"""

from django.contrib.auth.hashers import PBKDF2PasswordHasher


class FastPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    iterations = 1000
