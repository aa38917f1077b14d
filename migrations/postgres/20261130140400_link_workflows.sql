-- A booking link's own workflow (issue 12): its steps and the channels of its reconfirmation
-- requests, as JSON ({"steps": [{"trigger", "minutes", "action", "subject", "body"}],
-- "reconfirm_by_email", "reconfirm_by_text"}). Null runs the standard workflow.
alter table booking_links add column workflow text;
