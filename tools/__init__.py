"""Tools beside Relais: data builders and demo fixtures, run from a checkout."""
