//! Response automation: declarative playbooks (YAML) triggered by alert or incident
//! conditions, rendered into steps, dry-run or carried out by adapters.
