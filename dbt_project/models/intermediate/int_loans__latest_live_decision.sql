with

decisions as (

    -- Application decisions: the ones that carry a tier and, once a champion exists, a PD.
    -- A performance event's decision (the behaviour trigger, no PD) must not hide them.
    select * from {{ ref('stg_live__loan_decisions') }}
    where event_type = 'loan.application'

),

ranked as (

    select
        *,
        row_number() over (
            partition by loan_id
            -- The decision made last; at the same instant, the later event of the topic,
            -- then the event id, so the choice never depends on the scan order.
            order by decided_at desc, source_offset desc, event_id desc
        ) as decision_rank
    from decisions

),

final as (

    select
        loan_id,
        event_id as live_event_id,
        decided_at as live_decided_at,
        model_run_id as live_model_run_id,
        pd as live_pd,
        risk_decile as live_risk_decile,
        risk_tier as live_risk_tier,
        reason_codes as live_reason_codes
    from ranked
    where decision_rank = 1

)

select * from final
