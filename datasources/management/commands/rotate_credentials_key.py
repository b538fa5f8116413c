"""`manage.py rotate_credentials_key`: re-encrypt every stored credential under the newest key.

Rotation: put a new key first in CREDENTIALS_ENCRYPTION_KEYS (keep the old ones after
it) on every process, run this command, then drop the old keys once `--dry-run` reports
nothing left to re-encrypt.

Rows are read in batches by ascending id (keyset pagination: each batch starts after the
last id seen, so no batch rescans earlier rows), each batch in its own transaction with
its rows locked (SELECT ... FOR UPDATE on PostgreSQL; SQLite has one writer anyway), so
a concurrent save of the same row waits instead of being overwritten. A credential that
the newest key alone already opens is skipped, which makes the command safe to run
again, or to resume after an interruption. The stored tokens are read and written as
they are: neither the clear text nor any key leaves the process or reaches the output.
"""

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import models, transaction
from django.db.models.functions import Cast

from datasources.fields import EncryptedTextField
from rivergen import crypto

DEFAULT_BATCH_SIZE = 500
# Ids of undecryptable rows shown in the error: enough to start looking, never a flood.
SHOWN_IDS = 10


@dataclass
class RotationCounts:
    rows: int = 0
    batches: int = 0
    rotated: int = 0
    current: int = 0
    undecryptable_ids: list[Any] = field(default_factory=list)


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 'es' if noun.endswith('h') else 's'}"


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {value!r}")
    return number


def encrypted_fields() -> list[tuple[type[models.Model], list[str]]]:
    """Every model with an EncryptedTextField, with the names of those fields."""
    found = []
    for model in apps.get_models():
        names = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if names:
            found.append((model, names))
    return found


def rotate_model(
    model: type[models.Model],
    names: list[str],
    *,
    batch_size: int,
    dry_run: bool,
    on_batch: Callable[[RotationCounts], None] | None = None,
) -> RotationCounts:
    """Re-encrypt `names` on every row of `model` under the newest key (only count, if `dry_run`)."""
    counts = RotationCounts()
    # Every row, whatever the default manager filters out.
    rows = model._base_manager.order_by("pk")
    # Cast to a plain TextField: the stored token, not the field's decrypted value.
    raw = [Cast(name, models.TextField()) for name in names]
    last_pk = None
    while True:
        with transaction.atomic():
            batch = rows if last_pk is None else rows.filter(pk__gt=last_pk)
            if not dry_run:
                batch = batch.select_for_update()
            selected = list(batch.values_list("pk", *raw)[:batch_size])
            for pk, *tokens in selected:
                changed = {}
                for name, token in zip(names, tokens, strict=True):
                    if token is None:
                        continue
                    try:
                        rotated = crypto.rotate(token)
                    except crypto.UndecryptableCredential:
                        if pk not in counts.undecryptable_ids:
                            counts.undecryptable_ids.append(pk)
                        continue
                    if rotated is None:
                        counts.current += 1
                    else:
                        counts.rotated += 1
                        # A plain TextField value: written as is (the field would encrypt it again).
                        changed[name] = models.Value(rotated, output_field=models.TextField())
                if changed and not dry_run:
                    # update(): no save() signals, and updated_at keeps its value.
                    model._base_manager.filter(pk=pk).update(**changed)
        if not selected:
            return counts
        counts.rows += len(selected)
        counts.batches += 1
        last_pk = selected[-1][0]
        if on_batch is not None:
            on_batch(counts)


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored credential under the newest (first) CREDENTIALS_ENCRYPTION_KEYS key, "
        "in batches. Credentials already under it are skipped, so it is safe to run again."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--batch-size",
            type=positive_int,
            default=DEFAULT_BATCH_SIZE,
            help=f"Rows per batch, each batch in its own transaction (default {DEFAULT_BATCH_SIZE}).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Count what would be re-encrypted; write nothing.")

    def handle(self, *args: Any, batch_size: int, dry_run: bool, **options: Any) -> None:
        verbosity = options["verbosity"]
        keys = crypto.configured_keys()
        self.stdout.write(
            f"{'Dry run: counting' if dry_run else 'Re-encrypting'} credentials under the newest of "
            f"{plural(len(keys), 'key')}, in batches of {batch_size}."
        )
        verb = "to re-encrypt" if dry_run else "re-encrypted"
        total_rotated = 0
        undecryptable: list[str] = []
        for model, names in encrypted_fields():
            label = model._meta.label

            def progress(counts: RotationCounts, label: str = label) -> None:
                if verbosity >= 2:
                    self.stdout.write(f"  {label}: batch {counts.batches}, {counts.rows} rows read")

            counts = rotate_model(model, names, batch_size=batch_size, dry_run=dry_run, on_batch=progress)
            total_rotated += counts.rotated
            self.stdout.write(
                f"{label} ({', '.join(names)}): {plural(counts.rows, 'row')} in {plural(counts.batches, 'batch')}; "
                f"credentials {verb}: {counts.rotated}, already under the newest key: {counts.current}, "
                f"rows with an undecryptable credential: {len(counts.undecryptable_ids)}."
            )
            if counts.undecryptable_ids:
                shown = ", ".join(str(pk) for pk in counts.undecryptable_ids[:SHOWN_IDS])
                more = len(counts.undecryptable_ids) - SHOWN_IDS
                undecryptable.append(f"{label} ids {shown}" + (f" and {more} more" if more > 0 else ""))
        if undecryptable:
            # Everything else is done; these rows are left as they were.
            raise CommandError(
                "Some credentials open with none of CREDENTIALS_ENCRYPTION_KEYS and were left as they are "
                f"({'; '.join(undecryptable)}). Add the key they were encrypted with and run again."
            )
        if dry_run:
            self.stdout.write(f"Dry run: {plural(total_rotated, 'credential')} to re-encrypt; nothing written.")
        else:
            self.stdout.write(self.style.SUCCESS(f"Done: {plural(total_rotated, 'credential')} re-encrypted."))
