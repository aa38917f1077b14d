-- When a booking's reconfirmation request was delivered (issue 12). The deadline sweep
-- cancels only rows that were asked, before their deadline: a row never asked is never
-- auto-cancelled. Existing rows start unasked; a request still pending for them is recorded
-- when it goes out.
alter table scheduling_calendar_events add column reconfirm_requested_at timestamptz;
