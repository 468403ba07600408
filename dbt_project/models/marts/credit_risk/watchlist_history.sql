{#- The watchlist as it would have stood at each month-end of the payment histories, point in
    time: the loans each trigger flagged, from what was known then. The rule reads
    origination fields (known from issue); the behaviour trigger the month's days-past-due
    bucket; the model trigger the out-of-time PD of the latest backtest cutoff before the
    month (stg_ml__point_in_time_scores: a model fitted on loans resolved by then), never a
    model trained later; the behavioural score's trigger (behaviour_model) the month's
    point-in-time score (stg_ml__behaviour_point_in_time_scores: a model fitted on the
    loan-months whose outcome was known by the quarter-end before). A loan is on the list while open: from issue until the month it
    defaults (120+ days past due or charged off) or is paid off. The backtest
    (ews_backtest) and the alerts' lives (watchlist_alerts) are read from here. -#}
{%- set behaviour_reasons = {
    '1-29': 'BEHAVIOUR_DPD_1_29', '30-59': 'BEHAVIOUR_DPD_30_59',
    '60-89': 'BEHAVIOUR_DPD_60_89', '90-119': 'BEHAVIOUR_DPD_90_119',
} -%}

with

loan_months as (

    select * from {{ ref('fct_loan_months') }}

),

ends as (

    -- The month each loan left the book: its first month defaulted (120+ days past due or
    -- charged off) or paid off. A month after it is never on the list, even where the
    -- history shows the loan open again (a cure after 120+, a gap that restarts a late run).
    select
        loan_id,
        min(month_date) as end_month
    from loan_months
    where dpd_bucket in ('120+', 'charged_off', 'paid_off')
    group by loan_id

),

months as (

    select loan_months.*
    from loan_months
    left join ends on loan_months.loan_id = ends.loan_id
    where
        loan_months.dpd_bucket in ('current', '1-29', '30-59', '60-89', '90-119', 'unknown')
        and (ends.end_month is null or loan_months.month_date < ends.end_month)

),

loans as (

    select * from {{ ref('fct_loans') }}

),

point_in_time_scores as (

    select * from {{ ref('stg_ml__point_in_time_scores') }}

),

behaviour_scores as (

    select * from {{ ref('stg_ml__behaviour_point_in_time_scores') }}

),

cutoffs as (

    -- Each cutoff's model serves the months after it, up to and including the next cutoff.
    select
        cutoff_month,
        lead(cutoff_month) over (order by cutoff_month) as next_cutoff_month
    from (select distinct cutoff_month from point_in_time_scores) as distinct_cutoffs

),

month_cutoffs as (

    -- Each month's cutoff, over the few distinct months (a range join on every loan-month,
    -- or an `or` in a join condition, took DuckDB 140 s on the demo book).
    select
        distinct_months.month_date,
        cutoffs.cutoff_month
    from (select distinct month_date from months) as distinct_months
    inner join cutoffs
        on
            distinct_months.month_date > cutoffs.cutoff_month
            and distinct_months.month_date
            <= coalesce(cutoffs.next_cutoff_month, cast('9999-12-01' as date))

),

with_pd as (

    select
        months.loan_id,
        months.month_date as as_of_month,
        months.months_on_book,
        months.issue_date,
        months.grade,
        months.dpd_bucket,
        months.balance_end as balance,
        scores.pd,
        scores.cutoff_month as model_cutoff_month,
        behaviour_scores.pd as behaviour_pd,
        coalesce(loans.is_original_rule_watchlist, false) as trips_original_rule,
        coalesce(loans.is_rule_watchlist, false) as trips_rule,
        months.dpd_bucket in ('1-29', '30-59', '60-89', '90-119') as trips_behaviour,
        coalesce(scores.pd >= {{ var('watchlist_pd_min') }}, false) as trips_model,
        {{ behaviour_model_trigger('behaviour_scores.pd') }} as trips_behaviour_model,
        loans.rule_reason_codes
    from months
    left join loans on months.loan_id = loans.loan_id
    left join month_cutoffs on months.month_date = month_cutoffs.month_date
    left join point_in_time_scores as scores
        on
            months.loan_id = scores.loan_id
            and month_cutoffs.cutoff_month = scores.cutoff_month
    left join behaviour_scores
        on
            months.loan_id = behaviour_scores.loan_id
            and months.month_date = behaviour_scores.month_date

),

final as (

    select
        loan_id,
        as_of_month,
        months_on_book,
        issue_date,
        cast(extract(year from issue_date) as integer) as vintage_year,
        grade,
        dpd_bucket,
        balance,
        pd,
        model_cutoff_month,
        behaviour_pd,
        trips_original_rule,
        trips_rule,
        trips_behaviour,
        trips_model,
        trips_behaviour_model,
        trips_rule or trips_behaviour or trips_model or trips_behaviour_model as trips_any,
        -- The triggers that fired, e.g. 'behaviour;model;rule' ('original_rule' only where the
        -- original's thresholds flag a loan the watchlist's variables do not).
        trim(
            both ';' from
            case when trips_behaviour then 'behaviour' else '' end
            || case when trips_model then ';model' else '' end
            || case when trips_behaviour_model then ';behaviour_model' else '' end
            || case when trips_rule then ';rule' else '' end
            || case
                when trips_original_rule and not trips_rule then ';original_rule' else ''
            end
        ) as triggers_fired,
        trim(
            both ';' from
            case dpd_bucket
                {% for bucket, reason in behaviour_reasons.items() -%}
                    when '{{ bucket }}' then '{{ reason }}'
                {% endfor -%}
                else ''
            end
            || case when trips_model then ';MODEL_PD' else '' end
            || case when trips_behaviour_model then ';BEHAVIOUR_PD' else '' end
            || case when trips_rule then ';' || rule_reason_codes else '' end
        ) as reason_codes,
        -- Built like the live watchlist's, on the history's finer buckets: days past due
        -- (1-29 2, 30-59 3, 60-89 4, 90-119 5), one per further trigger, then exposure.
        case dpd_bucket
            when '1-29' then 2 when '30-59' then 3 when '60-89' then 4 when '90-119' then 5
            else 0
        end
        + (case when trips_model or trips_behaviour_model then 1 else 0 end)
        + (case when trips_rule then 1 else 0 end)
        + {{ exposure_points('balance') }} as severity
    from with_pd
    where
        trips_original_rule or trips_rule or trips_behaviour or trips_model
        or trips_behaviour_model

)

select * from final
