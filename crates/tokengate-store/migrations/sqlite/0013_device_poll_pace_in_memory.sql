-- The device-code polling clock (last poll, grown interval) moved to each node's memory
-- (DevicePollPace): a poll that changes nothing no longer writes. `interval` stays: it is the
-- interval the device was told when the flow started.
ALTER TABLE device_codes DROP COLUMN last_poll_ms;
