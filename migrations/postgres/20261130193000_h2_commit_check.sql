-- A change is committed in one statement (store-postgres, `commit.rs`): its booking writes are
-- common table expressions, each run only after the one before wrote its row. This function
-- ends such a statement with an error when a write matched no row (an update whose expected
-- version is stale), so that nothing of the change stays: SQLSTATE SK409, and the write's
-- 0-based position in the detail. It returns `touched` (rows per write) otherwise.
create function slotkeeper_all_written(touched bigint[]) returns bigint[] language plpgsql as $$
begin
    for i in 1 .. coalesce(array_length(touched, 1), 0) loop
        if touched[i] = 0 then
            raise exception 'write % of the change matched no row (stale version)', i - 1
                using errcode = 'SK409', detail = (i - 1)::text;
        end if;
    end loop;
    return touched;
end
$$;
