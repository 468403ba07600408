{#- The rows of `relation` that are each event's first landing. The same event can land
    twice from two sources (e.g. one file loaded under two names); event ids are
    deterministic, so the first landing of each id is the one kept. -#}
{% macro first_landing(relation) -%}
    select * from (
        select
            *,
            row_number() over (
                partition by event_id order by landed_at, source_offset
            ) as landing_rank
        from {{ relation }}
    ) as ranked_landings
    where landing_rank = 1
{%- endmacro %}
