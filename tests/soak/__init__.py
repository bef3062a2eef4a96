"""The soak runner (`make soak`): hours of dispatch work squeezed into minutes, under faults and kills."""
