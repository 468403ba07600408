-- The watchlist holds active (unresolved) loans only, and every flagged reason matches its rule.
with

watchlist as (

    select * from {{ ref('early_warning_watchlist') }}

),

loans as (

    select * from {{ ref('fct_loans') }}

),

final as (

    select watchlist.loan_id
    from watchlist
    inner join loans on watchlist.loan_id = loans.loan_id
    where
        loans.outcome <> 'unresolved'
        or (watchlist.reason_codes like '%RULE_LEVERAGE_STRESS%') <> loans.is_rule_watchlist
        or (watchlist.reason_codes like '%BEHAVIOUR_%') <> (
            loans.loan_status in ('In Grace Period', 'Late (16-30 days)', 'Late (31-120 days)')
        )

)

select * from final
