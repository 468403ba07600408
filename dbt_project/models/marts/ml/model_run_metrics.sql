{#- One row per trained candidate of either model family (the origination PD, the
    behavioural score) with its validation and out-of-time test metrics, for the Model &
    Drift dashboard. Empty until the ML step has trained. -#}
with

runs as (

    select * from {{ ref('stg_ml__model_runs') }}

),

final as (

    select
        run_id,
        training_id,
        model_family,
        trained_at,
        candidate,
        model_type,
        is_champion,
        split_cut,
        train_rows,
        test_rows,
        auc,
        gini,
        ks,
        brier,
        top_decile_lift,
        rule_watchlist_lift,
        validation_cut,
        validation_rows,
        validation_auc,
        validation_ks,
        mean_pd,
        default_rate,
        calibration_method,
        target
    from runs

)

select * from final
