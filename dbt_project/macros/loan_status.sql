{#- LendingClub's loan statuses: what each means for the outcome and for days past due. One
    place for these rules: the export's snapshots (stg_loan_events__performance) and the
    payment histories (stg_loan_events__loan_months, fct_loan_months) both read them. -#}

{% macro known_loan_statuses() %}
    {{ return([
        'Current', 'Issued', 'In Grace Period', 'Late (16-30 days)', 'Late (31-120 days)',
        'Fully Paid', 'Charged Off', 'Default'
    ]) }}
{% endmacro %}

{#- The status without the 'Does not meet the credit policy. Status:' prefix ('... Status:Fully
    Paid' is a Fully Paid loan issued outside the credit policy), trimmed. -#}
{% macro loan_status_unprefixed(status) -%}
    replace(trim({{ status }}), 'Does not meet the credit policy. Status:', '')
{%- endmacro %}

{#- A status (unprefixed) as an outcome: Charged Off and Default are defaults, Fully Paid is
    good, anything else is not resolved yet. -#}
{% macro loan_outcome(status) -%}
    case
        when {{ status }} in ('Charged Off', 'Default') then 'default'
        when {{ status }} = 'Fully Paid' then 'good'
        else 'unresolved'
    end
{%- endmacro %}

{#- The days-past-due bucket of a loan-month, from its status (unprefixed), its charge-off
    flag and `late_run`, the months in a row the loan has been 'Late (31-120 days)' up to and
    including this one. LendingClub's statuses say less than a bucket: grace (up to 15 days)
    and 16-30 days are both 1-29; the first month 31-120 days late is 30-59, the second 60-89,
    the third 90-119, the fourth on 120+ (a payment missed in month M is 1-30 days late at M's
    end, 31-60 at M+1's, and so on); 'Default' (121+ days) is 120+. A status outside
    known_loan_statuses() is 'unknown'. -#}
{% macro dpd_bucket(status, charged_off, late_run) -%}
    case
        when {{ charged_off }} or {{ status }} = 'Charged Off' then 'charged_off'
        when {{ status }} = 'Fully Paid' then 'paid_off'
        when {{ status }} in ('Current', 'Issued') then 'current'
        when {{ status }} in ('In Grace Period', 'Late (16-30 days)') then '1-29'
        when {{ status }} = 'Default' then '120+'
        when {{ status }} = 'Late (31-120 days)' and {{ late_run }} <= 1 then '30-59'
        when {{ status }} = 'Late (31-120 days)' and {{ late_run }} = 2 then '60-89'
        when {{ status }} = 'Late (31-120 days)' and {{ late_run }} = 3 then '90-119'
        when {{ status }} = 'Late (31-120 days)' then '120+'
        else 'unknown'
    end
{%- endmacro %}

{#- The buckets in order of severity (current .. 120+), then the resolved and unreadable
    states. -#}
{% macro dpd_buckets() %}
    {{ return(['current', '1-29', '30-59', '60-89', '90-119', '120+', 'charged_off', 'paid_off', 'unknown']) }}
{% endmacro %}

{#- The loan-months of `relation` (one row per loan and month) with `previous_month_date` (the
    loan's month before in the history, whichever it is) and `late_run`: the months in a row,
    up to and including this one, the loan has been 'Late (31-120 days)' (0 in any other
    status), which dpd_bucket() reads. A month missing from the history ends a run: months
    late a year apart are not four months in a row. -#}
{% macro with_late_runs(relation) -%}
    {#- Rendered as a CTE's body: the first line at the call's indent, the rest at 4. -#}
    select
        *,
        sum(case when loan_status = 'Late (31-120 days)' then 1 else 0 end) over (
            partition by loan_id, late_spell
            order by month_date
            rows between unbounded preceding and current row
        ) as late_run
    from (
        select
            *,
            -- A new spell starts at every month in another status, and at a late month
            -- whose month before is not in the history.
            sum(
                case
                    when
                        loan_status = 'Late (31-120 days)'
                        and previous_month_date
                        = cast({{ dbt.dateadd('month', -1, 'month_date') }} as date)
                        then 0
                    else 1
                end
            ) over (
                partition by loan_id
                order by month_date
                rows between unbounded preceding and current row
            ) as late_spell
        from (
            select
                *,
                lag(month_date) over (partition by loan_id order by month_date)
                    as previous_month_date
            from {{ relation }}
        ) as ordered
    ) as spells
{%- endmacro %}

{#- The loan-months of `relation` (staged payment-history rows) that meet `condition`, one per
    loan and month: a month that arrived more than once (a corrected month) is the one landed
    last, in the warehouse's commit order. Rendered as a CTE's body. -#}
{% macro latest_loan_months(relation, condition) -%}
    select
        *
    from (
        select
            *,
            row_number() over (
                partition by loan_id, month_date
                order by commit_seq desc, source_offset desc, event_id asc
            ) as month_landing_rank
        from {{ relation }}
        where {{ condition }}
    ) as landings
    where month_landing_rank = 1
{%- endmacro %}

{#- A bucket as a chart shows it, led by its place so that sorting by name sorts by
    severity: '0 current', '1 1-29', ..., '6 charged off'. -#}
{% macro bucket_label(bucket, order) -%}
    {{ order }} {{ bucket | replace('_', ' ') }}
{%- endmacro %}
