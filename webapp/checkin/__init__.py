"""Check-in and attendance: session QR codes, learners' phones, the trainer's roster."""
