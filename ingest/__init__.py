"""Loan events in: LendingClub CSV reading, synthetic loans, the event contract, raw landing."""
