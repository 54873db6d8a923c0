"""One module per rule; each defines `RULE = Rule(...)`. The registry (`rulebase.all_rules`) finds them."""
