-- Rollback of 20261205000590_phase3_contract_template_version_fk_index: the foreign key's index goes
-- (concurrently, alone in its file like the build).

drop index concurrently if exists public.contract_templates_id_current_version_idx;
