"""A havruta's shared worksheet for one assignment, its CRDT update log and plain-text answers."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Worksheet(models.Model):
    assignment = models.ForeignKey("classrooms.Assignment", on_delete=models.CASCADE, related_name="worksheets")
    havruta = models.ForeignKey("classrooms.Havruta", on_delete=models.CASCADE, related_name="worksheets")
    created_at = models.DateTimeField(auto_now_add=True)
    last_edit_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["assignment", "havruta"], name="unique_worksheet")]

    def __str__(self) -> str:
        return f"Worksheet {self.pk}"


class FieldAnswer(models.Model):
    """Plain text of one field, materialised from the shared document for teachers, exports and PDFs.

    `student` is set for personal fields (one answer per student) and null for shared ones.
    """

    worksheet = models.ForeignKey(Worksheet, on_delete=models.CASCADE, related_name="answers")
    field_key = models.CharField(max_length=60)
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    value = models.JSONField(default=str)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # Two constraints because NULLs never collide in a unique index.
        constraints = [
            models.UniqueConstraint(
                fields=["worksheet", "field_key"], condition=models.Q(student__isnull=True), name="unique_shared_answer"
            ),
            models.UniqueConstraint(
                fields=["worksheet", "field_key", "student"],
                condition=models.Q(student__isnull=False),
                name="unique_personal_answer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.field_key} of worksheet {self.worksheet_id}"


class DocUpdate(models.Model):
    """One accepted Yjs update of a worksheet document: the log the live documents are rebuilt from.

    `student` is null for the havruta's shared document and names the owner of a personal document
    otherwise. Rows are committed before the update is applied in memory or sent to anyone, and
    compaction folds them into the DocSnapshot of the same document.
    """

    # One index only, the room's (below): every live update is a row here, and each further index
    # is written on every commit (three single-column ones cost a third of the writer's CPU,
    # bench/live_sync.py). Deleting a user scans instead, which is cheap: compaction keeps the
    # table to the last few hundred rows of each document.
    worksheet = models.ForeignKey(Worksheet, on_delete=models.CASCADE, related_name="doc_updates", db_index=False)
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    data = models.BinaryField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["worksheet", "student", "id"], name="docupdate_room_idx")]

    def __str__(self) -> str:
        return f"Update {self.pk} of worksheet {self.worksheet_id}"


class DocSnapshot(models.Model):
    """The merged state of one worksheet document up to the rows compaction deleted.

    `version` grows by one per compaction so that other processes notice the snapshot changed.
    """

    worksheet = models.ForeignKey(Worksheet, on_delete=models.CASCADE, related_name="doc_snapshots")
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    state = models.BinaryField()
    version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # Two constraints because NULLs never collide in a unique index (as for FieldAnswer).
        constraints = [
            models.UniqueConstraint(
                fields=["worksheet"], condition=models.Q(student__isnull=True), name="unique_shared_snapshot"
            ),
            models.UniqueConstraint(
                fields=["worksheet", "student"],
                condition=models.Q(student__isnull=False),
                name="unique_personal_snapshot",
            ),
        ]

    def __str__(self) -> str:
        return f"Snapshot of worksheet {self.worksheet_id}"
