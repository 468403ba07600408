{#- How the staging models read raw events.

    What is new is decided by the warehouse, never by a clock: every landing commits with a
    `commit_seq` taken in commit order (raw.ingest_batches; see ingest/raw_tables.py), and a
    staging model holds the commit_seq of what it staged. An incremental run reads the
    landings committed above the highest commit_seq it holds, however late they committed
    and whichever host wrote them, and nothing it holds already. -#}

{#- The lowest landing_seq among landings committed after `watermark`: their rows carry a
    landing_seq at least this, which lets DuckDB skip older row groups and Postgres use its
    landing_seq index. Looked up and inlined as a literal; null when nothing is new. -#}
{% macro first_new_landing_seq(watermark) -%}
    {%- set query -%}
        select min(landing_seq) from {{ source('ingest', 'ingest_batches') }}
        where commit_seq > {{ watermark }}
    {%- endset -%}
    {{ return(run_query(query).columns[0].values()[0] if execute else none) }}
{%- endmacro %}

{#- The events of a raw table a staging model has yet to stage: each event's first landing
    (the same fact can land from two places, e.g. a re-downloaded file whose lines moved),
    with its landing's commit_seq; on an incremental run only landings committed since the
    watermark, and only event ids the model lacks. `schema_versions`: only events of these
    payload versions (ingest/events.py), for a model that stages one payload shape. -#}
{% macro unstaged_events(raw_relation, schema_versions=none) -%}
    {%- if is_incremental() -%}
        {%- set watermark -%}
            {%- if execute -%}
                {{ run_query('select coalesce(max(commit_seq), 0) from ' ~ this).columns[0].values()[0] }}
            {%- else -%} 0 {%- endif -%}
        {%- endset -%}
        {%- set first_landing_seq = first_new_landing_seq(watermark | trim) -%}
    {%- endif %}
    select * from (
        select
            events.*,
            batches.commit_seq,
            row_number() over (
                partition by events.event_id
                order by
                    batches.commit_seq, events.source_kind, events.source_name,
                    events.source_partition, events.source_offset
            ) as landing_rank
        from {{ raw_relation }} as events
        inner join {{ source('ingest', 'ingest_batches') }} as batches
            on events.batch_id = batches.batch_id
        where
            {% if schema_versions is not none -%}
                events.schema_version in ({{ schema_versions | join(', ') }})
            {%- else -%}
                1 = 1
            {%- endif %}
            {% if is_incremental() -%}
                {%- if first_landing_seq is none %}
                    and 1 = 0
                {%- else %}
                    and batches.commit_seq > {{ watermark | trim }}
                    and events.landing_seq >= {{ first_landing_seq }}
                {%- endif %}
            {%- endif %}
    ) as first_landings
    where
        landing_rank = 1
        {% if is_incremental() -%}
            and not exists (
                select 1 from {{ this }} as staged
                where staged.event_id = first_landings.event_id
            )
        {%- endif %}
{%- endmacro %}

{#- The envelope of each event in `events` (a relation or CTE name), typed, with when it was
    staged, where it landed in commit order, and one `<key>_text` column per payload key,
    read in one pass over the payload. -#}
{% macro event_fields(events, payload_keys) -%}
    select
        {{ events }}.event_id,
        {{ lc_loan_id(events ~ '.loan_id') }} as loan_id,
        {{ events }}.occurred_at,
        {{ events }}.landed_at,
        {{ events }}.commit_seq,
        {{ events }}.source_offset,
        {{ events }}.source,
        {{ events }}.batch_id,
        {{ staged_at_now() }} as staged_at,
        {{ json_text_fields('payload', payload_keys) }}
    from {{ json_fields_from(events, 'payload', payload_keys) }}
{%- endmacro %}
