"""Driver for scripts/bench-findings-peer: DefectDojo's own importer, timed, on a Nessus file.

Runs inside DefectDojo's virtualenv with its source tree on sys.path (DD_SRC) and its stock
settings (dojo/settings/settings.dist.py, driven by DD_* environment variables that the bash
script sets: PostgreSQL database, in-memory Celery broker).

  bench-findings-peer.py setup            migrate the database, create the importing user
                                          (synchronous execution), turn deduplication on
  bench-findings-peer.py import FILE      new product/engagement, then DefaultImporter.process_scan
                                          (scan type "Tenable Scan", DefectDojo's Nessus importer:
                                          parser -> findings -> locations -> dedup -> save), timed;
                                          prints one JSON line
  bench-findings-peer.py reimport FILE    DefaultReImporter of the same file into that last test
                                          (every finding matched, nothing new); prints one JSON line

Needs Python >= 3.13 (DefectDojo targets 3.14; it uses itertools.batched(strict=)).
"""

import json
import os
import sys
import time

sys.path.insert(0, os.environ["DD_SRC"])
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dojo.settings.settings")

import django  # noqa: E402

django.setup()

from crum import impersonate  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

from dojo.celery import app as celery_app  # noqa: E402
from dojo.models import (  # noqa: E402
    Development_Environment,
    Dojo_User,
    Engagement,
    Finding,
    Product,
    Product_Type,
    System_Settings,
    Test,
    UserContactInfo,
)

# Nothing goes to a broker: any task that would be queued runs in this process.
celery_app.conf.task_always_eager = True
SCAN_TYPE = "Tenable Scan"  # DefectDojo's Nessus (.nessus XML) parser; "Nessus Scan" was folded into it


def setup():
    call_command("migrate", interactive=False, verbosity=0)
    user, _ = Dojo_User.objects.get_or_create(username="bench", defaults={"is_superuser": True, "is_staff": True})
    # Everything synchronous, in this process: dedup and post-processing are part of the timing.
    UserContactInfo.objects.update_or_create(
        user=user, defaults={"block_execution": True, "deduplication_execution_mode": "sync"})
    if not System_Settings.objects.exists():
        System_Settings.objects.create()
    System_Settings.objects.update(enable_deduplication=True)
    Development_Environment.objects.get_or_create(name="Development")
    print(json.dumps({"setup": "ok", "enable_deduplication": System_Settings.objects.get().enable_deduplication}))


def importer_options(user, **extra):
    return {
        "user": user,
        "lead": user,
        "scan_date": None,
        "environment": Development_Environment.objects.get(name="Development"),
        "minimum_severity": "Info",
        "active": True,
        "verified": True,
        "scan_type": SCAN_TYPE,
        "deduplication_execution_mode": "sync",
        **extra,
    }


def run_import(path):
    from dojo.importers.default_importer import DefaultImporter  # noqa: PLC0415

    user = Dojo_User.objects.get(username="bench")
    stamp = timezone.now().strftime("%Y%m%dT%H%M%S.%f")
    prod_type, _ = Product_Type.objects.get_or_create(name="bench")
    product = Product.objects.create(name=f"bench-{stamp}", description="bench", prod_type=prod_type)
    engagement = Engagement.objects.create(name="bench", product=product,
                                           target_start=timezone.now(), target_end=timezone.now())
    with impersonate(user), open(path, "rb") as scan:
        t0 = time.perf_counter()
        importer = DefaultImporter(**importer_options(user, engagement=engagement))
        test, _, new, closed, _, _, _ = importer.process_scan(scan)
        secs = time.perf_counter() - t0
    findings = Finding.objects.filter(test=test)
    print(json.dumps({
        "mode": "import", "test_id": test.id, "import_seconds": round(secs, 3),
        "created": findings.count(), "new_reported": new, "closed": closed,
        "duplicates": findings.filter(duplicate=True).count(),
        "dedup_complete": importer.deduplication_complete,
        **_location_counts(product, test),
    }))


def run_reimport(path):
    from dojo.importers.default_reimporter import DefaultReImporter  # noqa: PLC0415

    user = Dojo_User.objects.get(username="bench")
    test = Test.objects.filter(scan_type=SCAN_TYPE).latest("id")
    before = Finding.objects.filter(test=test).count()
    with impersonate(user), open(path, "rb") as scan:
        t0 = time.perf_counter()
        reimporter = DefaultReImporter(**importer_options(user, test=test))
        _, updated, new, closed, reactivated, untouched, _ = reimporter.process_scan(scan)
        secs = time.perf_counter() - t0
    print(json.dumps({
        "mode": "reimport", "test_id": test.id, "import_seconds": round(secs, 3),
        "findings_before": before, "updated": updated, "created": new, "closed": closed,
        "reactivated": reactivated, "untouched": untouched,
        "findings_after": Finding.objects.filter(test=test).count(),
    }))


def _location_counts(product, test):
    """Hosts (locations) the import attached to the product, and finding-host pairs: DefectDojo's
    Nessus parser folds every host with the same plugin title and severity into one finding."""
    from dojo.location.models import LocationFindingReference, LocationProductReference  # noqa: PLC0415
    return {
        "locations": LocationProductReference.objects.filter(product=product).count(),
        "finding_location_refs": LocationFindingReference.objects.filter(finding__test=test).count(),
    }


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "setup":
        setup()
    elif cmd == "import" and len(sys.argv) == 3:
        run_import(sys.argv[2])
    elif cmd == "reimport" and len(sys.argv) == 3:
        run_reimport(sys.argv[2])
    else:
        sys.exit(__doc__)
