{{ config(materialized='view') }}

{#- The stream scorer is optional: until it has decided an event, live.loan_decisions does
    not exist and this model is empty with the same columns, so everything downstream
    builds. A view: its one reader (int_loans__latest_live_decision) reads it once per
    build, so a table would only copy every decision the scorer ever wrote. -#}
{%- set columns = [
    'loan_id', 'event_id', 'event_type', 'source_name', 'source_partition', 'source_offset',
    'event_time', 'decided_at', 'model_run_id', 'pd', 'risk_decile', 'risk_tier',
    'rule_flag', 'reason_codes',
] -%}

with

source as (

    {{ optional_source(source('live', 'loan_decisions'), columns) }}

),

final as (

    select
        cast(loan_id as bigint) as loan_id,
        cast(event_id as text) as event_id,
        cast(event_type as text) as event_type,
        cast(source_name as text) as source_name,
        cast(source_partition as integer) as source_partition,
        cast(source_offset as bigint) as source_offset,
        cast(event_time as timestamp) as event_time,
        cast(decided_at as timestamp) as decided_at,
        cast(model_run_id as text) as model_run_id,
        cast(pd as double precision) as pd,
        cast(risk_decile as integer) as risk_decile,
        cast(risk_tier as text) as risk_tier,
        cast(rule_flag as boolean) as rule_flag,
        cast(reason_codes as text) as reason_codes
    from source

)

select * from final
