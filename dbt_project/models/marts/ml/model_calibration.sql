{#- The latest origination champion's calibration on its test cohorts: observed against expected
    default rates overall, per PD decile and per grade, with the observed rate's Jeffreys
    interval. Empty until `python -m ml train` has run. -#}
with

runs as (

    select * from {{ ref('stg_ml__model_runs') }}

),

calibration as (

    select * from {{ ref('stg_ml__model_calibration') }}

),

latest_champion as (

    select run_id
    from runs
    where is_champion and model_family = 'origination'
    order by trained_at desc, run_id asc
    limit 1

),

final as (

    select
        calibration.run_id,
        calibration.segment_type,
        calibration.segment,
        case
            when calibration.segment_type = 'decile' then cast(calibration.segment as integer)
        end as risk_decile,
        calibration.loans,
        calibration.defaults,
        calibration.observed_default_rate,
        calibration.mean_pd,
        calibration.mean_pd - calibration.observed_default_rate as pd_minus_observed,
        calibration.jeffreys_lower,
        calibration.jeffreys_upper,
        calibration.is_within_interval
    from calibration
    inner join latest_champion on calibration.run_id = latest_champion.run_id

)

select * from final
