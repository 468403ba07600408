{#- The ML step is optional: until it has scored a book, ml.loan_predictions does not exist
    and this model is an empty table of the same shape, so everything downstream builds. -#}
{%- set predictions = load_relation(source('ml', 'loan_predictions')) if execute else none -%}

with

source as (

    {% if predictions is not none -%}
        select * from {{ source('ml', 'loan_predictions') }}
    {%- else -%}
        select
            null as loan_id,
            null as run_id,
            null as pd,
            null as risk_decile,
            null as scored_at
        where 1 = 0
    {%- endif %}

),

final as (

    select
        cast(loan_id as bigint) as loan_id,
        cast(run_id as text) as run_id,
        cast(pd as double precision) as pd,
        cast(risk_decile as integer) as risk_decile,
        cast(scored_at as timestamp) as scored_at
    from source

)

select * from final
