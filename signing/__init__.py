"""Signing (电子印章): keys, seals, PAdES, timestamps, OCSP/CRL, validation reports, QR payloads.

A library: it imports nothing of ours and knows no database and no HTTP.
"""
