{#- How the staging models read raw events.

    first_landing: the rows of `relation` that are each event's first landing. The same event
    can land twice from two sources (e.g. one file loaded under two names); event ids are
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

{#- The envelope of each event in `events` (a relation or CTE name), typed, with when it was
    staged and one `<key>_text` column per payload key, read in one pass over the payload. -#}
{% macro event_fields(events, payload_keys) -%}
    select
        {{ events }}.event_id,
        cast({{ events }}.loan_id as bigint) as loan_id,
        {{ events }}.occurred_at,
        {{ events }}.landed_at,
        {{ events }}.source,
        {{ events }}.batch_id,
        {{ staged_at_now() }} as staged_at,
        {{ json_text_fields('payload', payload_keys) }}
    from {{ json_fields_from(events, 'payload', payload_keys) }}
{%- endmacro %}
