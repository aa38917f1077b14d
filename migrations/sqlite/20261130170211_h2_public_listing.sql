-- Whether a host lists their links on the deployment's home page (issue 11). Off unless the
-- host turns it on from their links page: nothing becomes public by upgrading.
alter table hosts add column lists_links boolean not null default false;
