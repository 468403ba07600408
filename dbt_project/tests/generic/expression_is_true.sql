{#- Rows of the model for which a boolean SQL expression does not hold, e.g. a per-row
    invariant such as `defaults <= loans`. -#}
{% test expression_is_true(model, expression) %}

select *
from {{ model }}
where not ({{ expression }})

{% endtest %}
