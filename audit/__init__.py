"""The audit log (留痕): one append-only table every domain writes its events to, in the same
transaction as the change it records. The tamper evidence (hash chain, Merkle checkpoints) is built
on this table by the audit issue; the write path stays ``audit.log.record``."""
