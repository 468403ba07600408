{#- Expected loss of every active loan: PD x LGD x EAD, with EAD the outstanding principal,
    PD the one the model trigger reads (effective_pd) and LGD its grade's estimate
    (int_grades__loss_given_default). Null where the loan has no PD yet or no balance. A
    table rebuilt whole: a grade's LGD moves with every charge-off, so no row can be kept. -#}
with

loans as (

    select * from {{ ref('fct_loans') }}
    where outcome = 'unresolved'

),

loss_given_default as (

    select * from {{ ref('int_grades__loss_given_default') }}

),

final as (

    select
        loans.loan_id,
        loans.grade,
        loans.risk_tier,
        loans.loan_status,
        loans.out_prncp as exposure_at_default,
        loans.effective_pd as pd,
        loans.effective_pd_source as pd_source,
        loss_given_default.lgd,
        loss_given_default.lgd_source,
        loans.effective_pd * loss_given_default.lgd * loans.out_prncp as expected_loss
    from loans
    left join loss_given_default
        on coalesce(loans.grade, 'unknown') = loss_given_default.grade

)

select * from final
