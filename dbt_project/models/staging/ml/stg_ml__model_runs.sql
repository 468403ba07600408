{#- Like stg_ml__loan_predictions: until a model has been trained, ml.model_runs does not
    exist and this model is an empty table of the same shape. -#}
{%- set runs = load_relation(source('ml', 'model_runs')) if execute else none -%}

with

source as (

    {% if runs is not none -%}
        select * from {{ source('ml', 'model_runs') }}
    {%- else -%}
        select
            null as run_id,
            null as training_id,
            null as trained_at,
            null as candidate,
            null as model_type,
            null as split_cut,
            null as train_rows,
            null as test_rows,
            null as auc,
            null as gini,
            null as ks,
            null as brier,
            null as top_decile_lift,
            null as rule_watchlist_lift,
            null as is_champion
        where 1 = 0
    {%- endif %}

),

final as (

    select
        cast(run_id as text) as run_id,
        cast(training_id as text) as training_id,
        cast(trained_at as timestamp) as trained_at,
        cast(candidate as text) as candidate,
        cast(model_type as text) as model_type,
        cast(split_cut as date) as split_cut,
        cast(train_rows as integer) as train_rows,
        cast(test_rows as integer) as test_rows,
        cast(auc as double precision) as auc,
        cast(gini as double precision) as gini,
        cast(ks as double precision) as ks,
        cast(brier as double precision) as brier,
        cast(top_decile_lift as double precision) as top_decile_lift,
        cast(rule_watchlist_lift as double precision) as rule_watchlist_lift,
        cast(is_champion as boolean) as is_champion
    from source

)

select * from final
