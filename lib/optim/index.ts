// Filled in by the optim work. 
export {};
