{#- Combinations of `columns` that more than one row holds. -#}
{% test unique_combination(model, columns) %}

select {{ columns | join(', ') }}, count(*) as rows_holding_it
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1

{% endtest %}
