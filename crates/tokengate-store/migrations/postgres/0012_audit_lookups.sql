-- Audit queries an operator runs on a large log (PostgreSQL): one record by its id (the gateway's
-- decision id header), and a token's, a subject's or a client's records in seq order without
-- scanning the log. Each index carries seq so `ORDER BY seq LIMIT n` reads it in order.
CREATE INDEX audit_events_id ON audit_events(id);
CREATE INDEX audit_events_token ON audit_events(token_id, seq);
CREATE INDEX audit_events_subject ON audit_events(subject, seq);
CREATE INDEX audit_events_client ON audit_events(client_id, seq);
