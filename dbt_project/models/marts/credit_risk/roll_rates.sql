{%- set buckets = dpd_buckets() %}
{%- set open_buckets = buckets[:6] %}

with

loan_months as (

    select * from {{ ref('fct_loan_months') }}

),

transitions as (

    -- A loan-month whose month before is in the history and still open (current to 120+):
    -- one move from that bucket to this one.
    select
        month_date,
        grade,
        previous_dpd_bucket as from_bucket,
        dpd_bucket as to_bucket,
        balance_begin
    from loan_months
    where
        previous_dpd_bucket in (
            {%- for bucket in open_buckets %}
                '{{ bucket }}'{{ "," if not loop.last }}
            {%- endfor %}
        )

),

counted as (

    -- Per grade, and over all grades.
    select
        month_date,
        coalesce(grade, 'unknown') as grade,
        from_bucket,
        to_bucket,
        count(*) as loans,
        coalesce(sum(balance_begin), 0) as balance
    from transitions
    group by month_date, coalesce(grade, 'unknown'), from_bucket, to_bucket
    union all
    select
        month_date,
        'All grades' as grade,
        from_bucket,
        to_bucket,
        count(*) as loans,
        coalesce(sum(balance_begin), 0) as balance
    from transitions
    group by month_date, from_bucket, to_bucket

),

final as (

    select
        month_date,
        grade,
        from_bucket,
        to_bucket,
        case from_bucket
            {%- for bucket in buckets %}
                when '{{ bucket }}' then {{ loop.index0 }}
            {%- endfor %}
        end as from_bucket_order,
        case to_bucket
            {%- for bucket in buckets %}
                when '{{ bucket }}' then {{ loop.index0 }}
            {%- endfor %}
        end as to_bucket_order,
        case from_bucket
            {%- for bucket in buckets %}
                when '{{ bucket }}' then '{{ bucket_label(bucket, loop.index0) }}'
            {%- endfor %}
        end as from_bucket_label,
        case to_bucket
            {%- for bucket in buckets %}
                when '{{ bucket }}' then '{{ bucket_label(bucket, loop.index0) }}'
            {%- endfor %}
        end as to_bucket_label,
        cast(loans as bigint) as loans,
        cast(balance as double precision) as balance,
        cast(loans as double precision)
        / sum(loans) over (partition by month_date, grade, from_bucket) as loan_share,
        case
            when sum(balance) over (partition by month_date, grade, from_bucket) > 0
                then
                    cast(balance as double precision)
                    / sum(balance) over (partition by month_date, grade, from_bucket)
        end as balance_share
    from counted

)

select * from final
