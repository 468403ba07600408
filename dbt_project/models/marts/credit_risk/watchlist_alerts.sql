{#- The life of each loan's alert, per trigger: first and last month flagged, months on the
    list, and how it ended, read from the loan's next month in its history after the last
    one flagged (a loan leaves the list at 120+ days past due: it ended charged off if its
    history charges it off later, else still 120+ days past due). One alert per loan and
    trigger, from its first flag to its last: a loan that cured and was flagged again later
    has one alert spanning both. -#}
with

history as (

    select * from {{ ref('watchlist_history') }}

),

loan_months as (

    select
        loan_id,
        month_date,
        lead(dpd_bucket) over (partition by loan_id order by month_date) as next_dpd_bucket,
        lead(month_date) over (partition by loan_id order by month_date) as next_month_date,
        min(case when dpd_bucket = 'charged_off' then month_date end)
            over (partition by loan_id)
            as charge_off_month
    from {{ ref('fct_loan_months') }}

),

flags as (

    {% for trigger in backtest_triggers() -%}
        select
            loan_id,
            '{{ trigger }}' as trigger_name,
            as_of_month,
            severity
        from history
        where trips_{{ trigger }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

lives as (

    select
        loan_id,
        trigger_name,
        min(as_of_month) as first_flagged_month,
        max(as_of_month) as last_flagged_month,
        count(*) as months_flagged,
        max(severity) as max_severity
    from flags
    group by loan_id, trigger_name

),

final as (

    select
        lives.loan_id,
        lives.trigger_name,
        lives.first_flagged_month,
        lives.last_flagged_month,
        cast(lives.months_flagged as integer) as months_flagged,
        cast(lives.max_severity as integer) as max_severity,
        case
            when loan_months.next_dpd_bucket = 'charged_off' then 'charged_off'
            when
                loan_months.next_dpd_bucket = '120+'
                and loan_months.charge_off_month > loan_months.next_month_date
                then 'charged_off'
            when loan_months.next_dpd_bucket = '120+' then 'past_due_120'
            when loan_months.next_dpd_bucket = 'paid_off' then 'paid_off'
            when loan_months.next_month_date is null then 'open'
            else 'cured'
        end as ended,
        loan_months.next_month_date as ended_month
    from lives
    left join loan_months
        on
            lives.loan_id = loan_months.loan_id
            and lives.last_flagged_month = loan_months.month_date

)

select * from final
