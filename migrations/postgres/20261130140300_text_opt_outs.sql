-- Phone numbers (E.164) that replied STOP to a text (opted_out) or START after it. One row per
-- number, holding its latest reply: `changed_at` is when that reply was sent, so a reply that
-- arrives late never overrides a newer one.
create table text_opt_outs (
    phone       text not null constraint text_opt_outs_pkey primary key,
    opted_out   boolean not null,
    changed_at  timestamptz not null,
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now()
);
