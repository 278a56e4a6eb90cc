"""Protocol-faithful fakes of the cloud and local model APIs, served over real HTTP."""
