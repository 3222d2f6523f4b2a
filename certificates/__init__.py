"""Certificates (电子证照): lifecycle, GB/T 36904 identifiers, rendering, blob storage."""
