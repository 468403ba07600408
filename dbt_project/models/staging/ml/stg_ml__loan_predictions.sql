{#- The ML step is optional: until it has scored a book, ml.loan_predictions does not exist
    and this model is an empty table of the same shape, so everything downstream builds. -#}
{%- set columns = ['loan_id', 'run_id', 'pd', 'risk_decile', 'scored_at', 'top_features'] -%}

with

source as (

    {{ optional_source(source('ml', 'loan_predictions'), columns) }}

),

final as (

    select
        cast(loan_id as bigint) as loan_id,
        cast(run_id as text) as run_id,
        cast(pd as double precision) as pd,
        cast(risk_decile as integer) as risk_decile,
        cast(scored_at as timestamp) as scored_at,
        cast(top_features as text) as top_features
    from source

)

select * from final
