"""Photos and evidence: checked by content, size-limited, re-encoded without EXIF (no GPS leaks)."""

from __future__ import annotations

import hashlib
import io
import warnings
from typing import IO

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from civicgrid.accounts.models import User
from civicgrid.core.errors import ValidationFailed

from ..models import Upload

ALLOWED = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}


def upload_create(*, file: IO[bytes], actor: User | None, field: str = "file") -> Upload:
    limit = settings.CIVICGRID["UPLOAD_MAX_BYTES"]
    raw = file.read(limit + 1)
    if len(raw) > limit:
        raise ValidationFailed(
            _("The file is larger than %(mb)d MB.") % {"mb": limit // (1024 * 1024)}, field=field
        )
    if not raw:
        raise ValidationFailed(_("The file is empty."), field=field)
    Image.MAX_IMAGE_PIXELS = settings.CIVICGRID["UPLOAD_MAX_PIXELS"]
    try:
        with warnings.catch_warnings():
            # Pillow only warns between the limit and twice it: refuse there too.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(raw)) as probe:
                fmt = probe.format
                probe.verify()
            image: Image.Image = Image.open(io.BytesIO(raw))
            image.load()
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        ValueError,
    ):
        raise ValidationFailed(
            _("The file is not a readable JPEG, PNG or WebP image."), field=field
        ) from None
    if fmt not in ALLOWED:
        raise ValidationFailed(_("Only JPEG, PNG and WebP images are accepted."), field=field)
    content_type, ext = ALLOWED[fmt]
    # Re-encoding keeps the pixels (turned upright) and drops every metadata block.
    image = ImageOps.exif_transpose(image)
    if fmt == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    out = io.BytesIO()
    image.save(out, format=fmt, **({"quality": 88} if fmt in ("JPEG", "WEBP") else {}))
    data = out.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    upload = Upload(
        content_type=content_type,
        size=len(data),
        width=image.width,
        height=image.height,
        sha256=digest,
        uploaded_by=actor if actor is not None and actor.pk else None,
    )
    upload.file.save(f"{digest[:16]}.{ext}", ContentFile(data), save=False)
    upload.save()
    return upload
