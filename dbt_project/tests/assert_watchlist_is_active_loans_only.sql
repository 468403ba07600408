-- The watchlist holds active (unresolved) loans only, every reason code matches its
-- condition (each of the rule's four only where the rule flags the loan and that condition
-- holds), and every active loan that trips a trigger is on it.
{%- set t = watchlist_rule_thresholds() %}
with

watchlist as (

    select * from {{ ref('early_warning_watchlist') }}

),

loans as (

    select * from {{ ref('fct_loans') }}

),

late_or_grace as (

    -- A resolved loan off the watchlist can break none of the conditions below: only
    -- active loans and the watchlist's own loans need reading.
    select
        *,
        {{ behaviour_trigger('loan_status') }} as is_behind
    from loans
    where
        outcome = 'unresolved'
        or loan_id in (select watchlist.loan_id from watchlist)

),

final as (

    select late_or_grace.loan_id
    from late_or_grace
    left join watchlist on late_or_grace.loan_id = watchlist.loan_id
    where
        (watchlist.loan_id is not null and late_or_grace.outcome <> 'unresolved')
        or (
            watchlist.loan_id is null
            and late_or_grace.outcome = 'unresolved'
            and (
                late_or_grace.is_rule_watchlist
                or late_or_grace.is_behind
                or late_or_grace.is_model_watchlist
            )
        )
        {% for code, column, threshold in [
            ('DTI>=', 'dti', t.dti), ('REVOL_UTIL>=', 'revol_util', t.revol_util),
            ('DELINQ_2YRS>', 'delinq_2yrs', t.delinq_2yrs),
            ('INQ_LAST_6MTHS>=', 'inq_last_6mths', t.inq_last_6mths),
        ] -%}
            or (watchlist.reason_codes like '%{{ code }}%') <> coalesce(
                late_or_grace.is_rule_watchlist
                and late_or_grace.{{ column }} >= {{ threshold }}, false
            )
        {% endfor -%}
        or (watchlist.reason_codes like '%BEHAVIOUR_%') <> late_or_grace.is_behind
        or (watchlist.reason_codes like '%MODEL_PD%') <> late_or_grace.is_model_watchlist

)

select * from final
