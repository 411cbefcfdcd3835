from pathlib import Path

from django.conf import settings

from civicgrid.cases.docs import render


def test_docs_workflow_md_is_generated_from_the_current_table():
    page = Path(settings.PROJECT_DIR) / "docs" / "workflow.md"
    assert page.read_text(encoding="utf-8") == render(), "run: python manage.py workflow_doc"
