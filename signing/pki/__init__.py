"""The hub's own PKI: root CA, issuing CA, timestamping and OCSP responder certificates, QR key.

``authority`` opens or creates it (``HubPKI``) and issues seal certificates; ``profiles`` says what
each kind of certificate holds; ``store`` keeps the material on disk; ``convert`` moves certificates
between cryptography and asn1crypto (what pyHanko speaks).
"""
