"""The competency framework (versioned data), evidence of competencies, and eligibility for
the basic digital-skills certificate."""
