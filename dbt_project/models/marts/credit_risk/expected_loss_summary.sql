with

loans as (

    select * from {{ ref('fct_loan_expected_loss') }}

),

segmented as (

    select
        'portfolio' as segment_type,
        'all' as segment,
        loans.*
    from loans
    union all
    select
        'grade' as segment_type,
        coalesce(grade, 'unknown') as segment,
        loans.*
    from loans
    union all
    select
        'risk_tier' as segment_type,
        risk_tier as segment,
        loans.*
    from loans

),

sums as (

    select
        segment_type,
        segment,
        count(*) as active_loans,
        sum(exposure_at_default) as exposure_at_default,
        sum(case when expected_loss is not null then 1 else 0 end) as scored_loans,
        sum(case when expected_loss is not null then exposure_at_default end)
            as scored_exposure_at_default,
        sum(expected_loss) as expected_loss,
        sum(case when expected_loss is not null then pd * exposure_at_default end)
            as pd_weighted_exposure
    from segmented
    group by segment_type, segment

),

final as (

    select
        segment_type,
        segment,
        cast(active_loans as bigint) as active_loans,
        cast(exposure_at_default as double precision) as exposure_at_default,
        cast(scored_loans as bigint) as scored_loans,
        cast(scored_exposure_at_default as double precision) as scored_exposure_at_default,
        cast(expected_loss as double precision) as expected_loss,
        cast(expected_loss as double precision) / nullif(scored_exposure_at_default, 0)
            as expected_loss_rate,
        cast(pd_weighted_exposure as double precision) / nullif(scored_exposure_at_default, 0)
            as exposure_weighted_pd,
        cast(expected_loss as double precision) / nullif(pd_weighted_exposure, 0)
            as implied_lgd
    from sums

)

select * from final
