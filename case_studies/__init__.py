"""End-to-end case studies (simulate -> reduce -> continue -> figures) and the command line."""
