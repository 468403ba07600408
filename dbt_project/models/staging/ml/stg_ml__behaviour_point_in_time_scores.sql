{#- Like stg_ml__point_in_time_scores: until `python -m ml train-behaviour` has run,
    ml.behaviour_point_in_time_scores does not exist and this model is an empty table of
    the same shape (the backtest's behaviour_model trigger then never fires). -#}
{%- set columns = [
    'loan_id', 'month_date', 'cutoff_month', 'pd', 'candidate', 'target', 'train_rows',
    'scored_at',
] -%}

with

source as (

    {{ optional_source(source('ml', 'behaviour_point_in_time_scores'), columns) }}

),

final as (

    select
        cast(loan_id as bigint) as loan_id,
        cast(month_date as date) as month_date,
        cast(cutoff_month as date) as cutoff_month,
        cast(pd as double precision) as pd,
        cast(candidate as text) as candidate,
        cast(target as text) as target,  -- noqa: RF04
        cast(train_rows as integer) as train_rows,
        cast(scored_at as timestamp) as scored_at
    from source

)

select * from final
