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

{#- The events of a raw table a staging model has yet to stage: each event's first landing,
    and on an incremental run only those landed since the watermark whose ids it lacks. -#}
{% macro unstaged_events(raw_relation) -%}
    {%- set landed -%}
        (
            select * from {{ raw_relation }}
            {% if is_incremental() -%}
                where {{ landed_since_watermark('landed_at') }}
            {%- endif %}
        ) as landed
    {%- endset -%}
    select * from ({{ first_landing(landed) }}) as first_landings
    {% if is_incremental() -%}
        where not exists (
            select 1 from {{ this }} as staged
            where staged.event_id = first_landings.event_id
        )
    {%- endif %}
{%- endmacro %}
