{#- Expected loss of every active loan: PD x LGD x EAD, with EAD the outstanding principal,
    PD the one the model trigger reads (effective_pd) and LGD its grade's estimate
    (int_grades__loss_given_default). Null where the loan has no PD yet or no readable
    balance (a negative outstanding principal is a data error, not a credit). A table rebuilt
    whole: a grade's LGD moves with every charge-off, so no row can be kept. -#}
with

loans as (

    select * from {{ ref('fct_loans') }}
    where outcome = 'unresolved'

),

loss_given_default as (

    select * from {{ ref('int_grades__loss_given_default') }}

),

exposures as (

    select
        *,
        case when out_prncp >= 0 then out_prncp end as exposure_at_default
    from loans

),

final as (

    select
        exposures.loan_id,
        exposures.grade,
        exposures.risk_tier,
        exposures.loan_status,
        exposures.exposure_at_default,
        exposures.effective_pd as pd,
        exposures.effective_pd_source as pd_source,
        loss_given_default.lgd,
        loss_given_default.lgd_source,
        exposures.effective_pd * loss_given_default.lgd * exposures.exposure_at_default
            as expected_loss
    from exposures
    left join loss_given_default
        on coalesce(exposures.grade, 'unknown') = loss_given_default.grade

)

select * from final
