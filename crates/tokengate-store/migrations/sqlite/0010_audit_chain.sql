-- Tamper evidence for the audit log (SQLite): every record is hash-chained to the one before it
-- (`tokengate_core::audit_chain`), and issuer nodes sign checkpoints of the chain head.
--
-- `prev_hash` and `chain_hash` are 64 lowercase hex digits; records written before this migration
-- keep them NULL and the chain starts after them. Writers assign `seq` themselves (head seq + 1)
-- while holding the head, so seq order is chain order and seqs have no gaps.
ALTER TABLE audit_events ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_events ADD COLUMN chain_hash TEXT;
-- The newest record's seq and hash, taken by every audit write as its transaction's last step
-- (SQLite's write lock serializes writers). The first chained record follows 32 zero bytes.
CREATE TABLE audit_chain_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    chain_hash TEXT NOT NULL
);
INSERT INTO audit_chain_head (id, seq, chain_hash)
SELECT 1, COALESCE(MAX(seq), 0), '0000000000000000000000000000000000000000000000000000000000000000' FROM audit_events;
-- Signed checkpoints of the head (`tokengate_core::audit_checkpoint`); retention never deletes them.
CREATE TABLE audit_checkpoints (
    seq INTEGER PRIMARY KEY,
    chain_hash TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    signature TEXT NOT NULL
);
